"""The dashboard's pages, one module per area; `dashboard.install` includes them."""
