DROP TRIGGER audit_log_announce ON audit_log;
DROP FUNCTION announce_content_change();
DROP TABLE webhook_attempts;
DROP TABLE webhook_deliveries;
DROP TABLE webhooks;
DROP TABLE events;
