-- Durable unread/group counter updates (issue 10, docs/RELIABILITY.md "Stored
-- exactly once"): each message commit writes its counter deltas here in the
-- same transaction; db-proxy applies them to Redis after the commit (a Lua
-- script that also records the row id, so a row is applied at most once) and
-- then deletes the row. Rows left by a crash or a Redis failure are applied by
-- the repair job. TierTalk's own table.
CREATE TABLE IF NOT EXISTS `IMCounterOutbox` (
  `id` char(32) COLLATE utf8mb4_bin NOT NULL,
  `deltas` mediumtext COLLATE utf8mb4_bin NOT NULL,
  `created` int(11) unsigned NOT NULL,
  PRIMARY KEY (`id`),
  KEY `idx_created` (`created`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
