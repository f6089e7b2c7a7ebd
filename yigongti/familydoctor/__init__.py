"""Family-doctor teams, service packages, contracts, fulfilment, home visits and home beds."""
