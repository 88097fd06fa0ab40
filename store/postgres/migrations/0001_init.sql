-- Directory objects and other documents: the whole value is JSON in data; the columns are only
-- what the store must look up, keep unique or compare-and-swap on.
CREATE TABLE docs (
	kind      TEXT    NOT NULL,
	tenant_id TEXT    NOT NULL,
	id        TEXT    NOT NULL,
	lookup    TEXT,             -- unique per kind and tenant: lower(UPN), lower(appId), lower(mailNickname) …
	ref       TEXT,             -- a non-unique lookup, e.g. the user of a Temporary Access Pass
	version   BIGINT  NOT NULL,
	created   BIGINT  NOT NULL, -- unix microseconds, like every time column
	data      TEXT    NOT NULL,
	PRIMARY KEY (kind, tenant_id, id)
);
CREATE UNIQUE INDEX docs_lookup ON docs (kind, tenant_id, lookup);
CREATE INDEX docs_ref ON docs (kind, tenant_id, ref);
CREATE INDEX docs_created ON docs (kind, tenant_id, created);

CREATE TABLE tenants (
	id      TEXT    PRIMARY KEY,
	created BIGINT  NOT NULL,
	data    TEXT    NOT NULL
);

CREATE TABLE subscriptions (
	id        TEXT    PRIMARY KEY,
	tenant_id TEXT    NOT NULL,
	created   BIGINT  NOT NULL,
	data      TEXT    NOT NULL
);
CREATE INDEX subscriptions_tenant ON subscriptions (tenant_id, created);

CREATE TABLE auth_codes (
	hash      TEXT    PRIMARY KEY,
	tenant_id TEXT    NOT NULL,
	family_id TEXT    NOT NULL,
	used      INTEGER NOT NULL,
	expires   BIGINT  NOT NULL,
	data      TEXT    NOT NULL
);
CREATE INDEX auth_codes_expires ON auth_codes (expires);

CREATE TABLE device_codes (
	hash      TEXT    PRIMARY KEY,
	user_code TEXT    NOT NULL,
	status    TEXT    NOT NULL,
	version   BIGINT  NOT NULL,
	expires   BIGINT  NOT NULL,
	data      TEXT    NOT NULL
);
CREATE UNIQUE INDEX device_codes_pending ON device_codes (user_code) WHERE status = 'pending';
CREATE INDEX device_codes_user_code ON device_codes (user_code);

CREATE TABLE refresh_tokens (
	hash      TEXT    PRIMARY KEY,
	family_id TEXT    NOT NULL,
	status    TEXT    NOT NULL,
	expires   BIGINT  NOT NULL,
	data      TEXT    NOT NULL
);
CREATE INDEX refresh_tokens_family ON refresh_tokens (family_id);

CREATE TABLE jtis (
	jti_key TEXT    PRIMARY KEY,
	expires BIGINT  NOT NULL
);
CREATE INDEX jtis_expires ON jtis (expires);

CREATE TABLE signing_keys (
	tenant_id  TEXT    NOT NULL,
	kid        TEXT    NOT NULL,
	generation BIGINT  NOT NULL,
	created    BIGINT  NOT NULL,
	data       TEXT    NOT NULL,
	PRIMARY KEY (tenant_id, kid),
	UNIQUE (tenant_id, generation)
);
