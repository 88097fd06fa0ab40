-- The sign-in log leaves docs for a table of its own. Every token issuance writes an entry, and
-- in docs each entry cost four index entries: the primary key, lookup (always NULL for it), ref
-- and created, each led by the kind. Here it costs the id's and the time's, and the user's only
-- when there is a user: an app's sign-in (client credentials, managed identity) has none.
CREATE TABLE sign_ins (
	tenant_id TEXT    NOT NULL,
	id        TEXT    NOT NULL,
	user_id   TEXT,             -- the user's id in lower case; NULL for an app's sign-in
	created   BIGINT  NOT NULL, -- createdDateTime in unix microseconds
	data      TEXT    NOT NULL,
	PRIMARY KEY (tenant_id, id)
);
CREATE INDEX sign_ins_created ON sign_ins (tenant_id, created);
CREATE INDEX sign_ins_user ON sign_ins (tenant_id, user_id, created) WHERE user_id IS NOT NULL;
INSERT INTO sign_ins (tenant_id, id, user_id, created, data)
	SELECT tenant_id, id, ref, created, data FROM docs WHERE kind = 'signIn' ORDER BY created;
DELETE FROM docs WHERE kind = 'signIn';
