-- One IMRecentSession row per (userId, peerId, type) (issue 10): TeamTalk's
-- schema has no unique key, and two writers could insert a session twice.
-- Duplicates are removed first, keeping the newest row (latest `updated`,
-- then the highest id); then the key lets writers upsert. TeamTalk's columns
-- and indexes stay as they are.
DELETE older FROM `IMRecentSession` AS older
  JOIN `IMRecentSession` AS newer
    ON newer.userId = older.userId AND newer.peerId = older.peerId AND newer.type <=> older.type
   AND (newer.updated > older.updated OR (newer.updated = older.updated AND newer.id > older.id));
ALTER TABLE `IMRecentSession` ADD UNIQUE KEY IF NOT EXISTS `uk_userId_peerId_type` (`userId`,`peerId`,`type`);
