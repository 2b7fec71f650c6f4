"""Wrong data reported from the field (a closed door, a dead phone number): made by field
workers, supervisors and navigators, routed to the 211 centre whose area holds the site, and
worked by that centre's navigators (and admins) until resolved. Until then every result for
the service carries the warning (``open_reports``, service/directory/live_sites.py)."""
