"""Shares: the list of chosen services a field worker leaves with the person.

A share is a read-only page at an unguessable link (``/s/<token>``, 192 random bits; only the
token's SHA-256 is stored), in English or French, that anyone holding the link opens without a
token until it expires (FIELDNAV_SHARES_TTL_DAYS, then 410). It shows, for each service, what
its public card shows now: name, address (never a confidential site's), phone, today's hours
and a map link, and the 211 line. It says nothing of the worker or their agency.

Delivered as a link, a printable page with a QR code of the link, an SMS (an HTTP provider,
service/shares/sms.py) or an email (SMTP, service/shares/mail.py). SMS and email go through
their own outbox (service/shares/outbox.py, delivered by ``fieldnav worker``): the recipient
is encrypted at rest with the handoff key ring, and cleared when the message is delivered or
after FIELDNAV_SHARES_RECIPIENT_RETENTION_H. Messages carry a neutral text and the link, never
service names: a phone or an inbox is often read by someone else.
"""
