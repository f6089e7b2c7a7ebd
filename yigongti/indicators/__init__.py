"""The indicator catalogue as data, its computation, the dashboard and exports."""
