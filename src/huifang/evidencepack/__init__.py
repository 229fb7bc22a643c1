"""证据包 (issue 8, NFR-2): one client, one period, one self-verifying zip.

``pack.build`` writes the zip (manifest, ledger, records, evidence files, the audit
chain segment, ``verify.py``); ``selectors`` decides which records and which audit
rows concern the client; ``standalone_verify`` is the stdlib-only checker copied
into every pack. ``huifang evidence-pack CLIENT --from D --to D OUT.zip`` and the
screen ``/evidence-pack/<client_id>/`` (``{% evidence_pack_button client %}`` on
the client page) call ``build``.
"""
