-- The editor app's lists of one kind ("Topics") and the home's "my drafts"
-- and "changes requested of me", most recently changed first. Without them
-- each walks every document.
CREATE INDEX documents_by_kind_recently_changed ON documents (kind, updated_at DESC, id DESC);
CREATE INDEX documents_by_owner_recently_changed ON documents (owner_id, updated_at DESC, id DESC)
    WHERE owner_id IS NOT NULL;
