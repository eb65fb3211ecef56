; Inno Setup 6 script of the friend's app for Windows.
; Built on a hosted Windows runner (.github/workflows/build-windows.yml): first
;   pyinstaller packaging\streamr-node.spec    -> dist\streamr-node\
; then
;   iscc /DAppVersion=0.1.0 packaging\windows\streamrp2p.iss   -> dist\StreamrP2P-Setup-0.1.0.exe
; Start-menu entry, optional desktop icon, optional start at sign-in, the streamr:// URL handler
; (invite links open the app), and a clean uninstall. Per-user by default (no admin needed).

#ifndef AppVersion
  #define AppVersion "0.1.0"
#endif
#define AppName "StreamrP2P"
#define AppExe "streamr-node.exe"
#define Root "..\.."

[Setup]
AppId={{6F0C7A52-3B9E-4C1D-9A37-5D2E8B14C0A1}
AppName={#AppName}
AppVersion={#AppVersion}
AppPublisher=StreamrP2P
AppPublisherURL=https://github.com/streamrp2p/streamrp2p
DefaultDirName={autopf}\{#AppName}
DefaultGroupName={#AppName}
DisableProgramGroupPage=yes
PrivilegesRequired=lowest
PrivilegesRequiredOverridesAllowed=dialog
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
OutputDir={#Root}\dist
OutputBaseFilename=StreamrP2P-Setup-{#AppVersion}
SetupIconFile={#Root}\assets\app.ico
UninstallDisplayIcon={app}\{#AppExe}
UninstallDisplayName={#AppName}
Compression=lzma2/max
SolidCompression=yes
WizardStyle=modern
CloseApplications=force
RestartApplications=no

[Languages]
Name: "english"; MessagesFile: "compiler:Default.isl"

[Tasks]
Name: "desktopicon"; Description: "{cm:CreateDesktopIcon}"; GroupDescription: "{cm:AdditionalIcons}"; Flags: unchecked
Name: "autostart"; Description: "Start {#AppName} when I sign in (keeps supporting while the stream is live)"; GroupDescription: "Start-up:"

[Files]
Source: "{#Root}\dist\streamr-node\*"; DestDir: "{app}"; Flags: ignoreversion recursesubdirs createallsubdirs

[Icons]
Name: "{group}\{#AppName}"; Filename: "{app}\{#AppExe}"
Name: "{group}\Uninstall {#AppName}"; Filename: "{uninstallexe}"
Name: "{autodesktop}\{#AppName}"; Filename: "{app}\{#AppExe}"; Tasks: desktopicon

[Registry]
; streamr://join?coordinator=...&code=... opens the app's join flow.
Root: HKA; Subkey: "Software\Classes\streamr"; ValueType: string; ValueName: ""; ValueData: "URL:StreamrP2P invite"; Flags: uninsdeletekey
Root: HKA; Subkey: "Software\Classes\streamr"; ValueType: string; ValueName: "URL Protocol"; ValueData: ""
Root: HKA; Subkey: "Software\Classes\streamr\DefaultIcon"; ValueType: string; ValueName: ""; ValueData: """{app}\{#AppExe}"",0"
Root: HKA; Subkey: "Software\Classes\streamr\shell\open\command"; ValueType: string; ValueName: ""; ValueData: """{app}\{#AppExe}"" --invite ""%1"""
; Start at sign-in (the app's own "start at login" setting uses the same value name).
Root: HKCU; Subkey: "Software\Microsoft\Windows\CurrentVersion\Run"; ValueType: string; ValueName: "{#AppName}"; ValueData: """{app}\{#AppExe}"""; Flags: uninsdeletevalue; Tasks: autostart

[Run]
Filename: "{app}\{#AppExe}"; Description: "{cm:LaunchProgram,{#AppName}}"; Flags: nowait postinstall skipifsilent

[UninstallRun]
Filename: "{sys}\taskkill.exe"; Parameters: "/IM {#AppExe} /F"; Flags: runhidden; RunOnceId: "StopStreamrP2P"

[UninstallDelete]
; The per-user Run value may also have been written by the app's settings.
Type: dirifempty; Name: "{app}"

[Code]
procedure CurUninstallStepChanged(CurUninstallStep: TUninstallStep);
begin
  if CurUninstallStep = usPostUninstall then
    RegDeleteValue(HKEY_CURRENT_USER, 'Software\Microsoft\Windows\CurrentVersion\Run', '{#AppName}');
end;
