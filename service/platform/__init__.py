"""The platform every capability stands on: settings, the database, migrations and grants,
problem documents, idempotency, observability."""
