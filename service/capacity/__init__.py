"""Live capacity: counts of free beds, spaces or appointments sent by providers, merged with
the counts imports bring (merge.py), written with their history (store.py), within the
organizations a provider account is granted (grants.py)."""
