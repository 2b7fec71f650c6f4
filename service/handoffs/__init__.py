"""One-tap handoffs to a 211 navigator (FHIR ServiceRequest + Task, Gravity SDOH referral pattern).

Small modules, one job each:

- ``model``        statuses, urgencies and the request bodies the API accepts (validated);
- ``schemas``      the response shapes (documented in the OpenAPI contract);
- ``location``     coarse H3 cells and region filters;
- ``transitions``  the state machine: allowed transitions, who may make each, reasons;
- ``crypto``       Fernet encryption of personal data at rest, the key ring;
- ``rotation``     re-encryption of stored values with the active key;
- ``idempotency``  Idempotency-Key handling (IETF httpapi draft);
- ``access``       object-level rules: which handoffs a caller may see;
- ``centres``      navigator centres as data: load a file, route a handoff;
- ``callback``     the expected callback window from a centre's hours;
- ``audit``        the append-only audit log of reads and changes of personal data;
- ``outbox``       webhook events written in the same transaction as the change;
- ``commands``     the write side: create, claim, transition, add a note;
- ``queries``      the read side: referrer and navigator views, lists, the queue;
- ``webhooks``     the worker that delivers the outbox (signed, retried, dead-lettered);
- ``purge``        retention: personal data removed after a handoff closes;
- ``stats``        anonymous counts with k-anonymity suppression.
"""
