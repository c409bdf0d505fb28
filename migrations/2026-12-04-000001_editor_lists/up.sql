-- The editor app's lists: every item, or the items in one status, most
-- recently changed first, a page at a time (keyset on updated_at, id).
CREATE INDEX documents_recently_changed ON documents (updated_at DESC, id DESC);
CREATE INDEX documents_by_status_recently_changed ON documents (status, updated_at DESC, id DESC);
