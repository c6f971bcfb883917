-- Idempotent message stores (issue 10, docs/RELIABILITY.md "Stored exactly once"):
-- one row per stored message that carried an idempotency key, written in the
-- message transaction. A second store of the same (fromId, idemKey) within
-- the dedupe window hits the unique key and is answered with msgId instead of
-- being stored again. Rows older than the window are purged in the background.
-- TierTalk's own table: TeamTalk's tables are never altered by it.
CREATE TABLE IF NOT EXISTS `IMMsgIdempotency` (
  `id` bigint(20) unsigned NOT NULL AUTO_INCREMENT,
  `fromId` int(11) unsigned NOT NULL,
  `idemKey` varchar(128) COLLATE utf8mb4_bin NOT NULL,
  `sessionType` tinyint(3) unsigned NOT NULL,
  `toId` int(11) unsigned NOT NULL,
  `msgId` int(11) unsigned NOT NULL,
  `created` int(11) unsigned NOT NULL,
  PRIMARY KEY (`id`),
  UNIQUE KEY `uk_fromId_idemKey` (`fromId`,`idemKey`),
  KEY `idx_created` (`created`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
