-- One row per refresh-token family. Every change to a family locks this row first, and a
-- revoked family stays revoked for links created after the revocation. Families that exist
-- already are carried over; a family with any revoked link was revoked as a whole.
CREATE TABLE refresh_families (
	family_id TEXT    PRIMARY KEY,
	revoked   INTEGER NOT NULL DEFAULT 0
);
INSERT INTO refresh_families (family_id, revoked)
	SELECT family_id, MAX(CASE WHEN status = 'revoked' THEN 1 ELSE 0 END)
	FROM refresh_tokens GROUP BY family_id;
