-- A user's sign-ins are read newest first on every sign-in (for its risk): with created in the
-- index after ref, that read walks the index instead of sorting all of the user's entries.
-- The new index serves every lookup the old (kind, tenant_id, ref) one did.
CREATE INDEX docs_ref_created ON docs (kind, tenant_id, ref, created);
DROP INDEX docs_ref;
