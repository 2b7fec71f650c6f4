"""The HSDS 3.0 API's data side: rows to HSDS objects as the official schemas say (serialize),
the compiled objects (compiled), the filtered and paged lists (queries), streaming (ndjson).

Confidential sites follow service/directory/confidential.py everywhere here."""
