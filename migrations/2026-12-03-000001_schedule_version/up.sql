-- A publish schedule is bound to the version the publisher scheduled: the
-- scheduler publishes exactly that version or nothing, so an edit made
-- after scheduling never reaches the public without a publisher.
ALTER TABLE documents ADD COLUMN scheduled_publish_version integer;
-- Schedules set before this column existed were set on the then current
-- draft; nothing tells which, so they are bound to the current draft.
UPDATE documents SET scheduled_publish_version = draft_version
 WHERE scheduled_publish_at IS NOT NULL;
ALTER TABLE documents ADD CONSTRAINT documents_scheduled_publish_version
    CHECK ((scheduled_publish_at IS NULL) = (scheduled_publish_version IS NULL));
