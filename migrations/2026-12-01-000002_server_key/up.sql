-- Which server key this database's tokens are hashed with, as a
-- fingerprint (an HMAC of a fixed text under the key: it does not reveal
-- the key). Every `beacon serve` sharing the database must use the same
-- key; one started with another refuses to run instead of turning every
-- token it did not make into a 401.
CREATE TABLE server_key (
    singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    fingerprint bytea NOT NULL,
    recorded_at timestamptz NOT NULL DEFAULT now()
);
