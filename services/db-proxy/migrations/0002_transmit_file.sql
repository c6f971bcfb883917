-- Offline file records: used by TeamTalk's db-proxy but absent from ttopen.sql
-- (docs/STORAGE.md §1.12). Listed by `toId = ? and status = 0 order by created`,
-- deleted by fromId + toId + taskId.
CREATE TABLE IF NOT EXISTS `IMTransmitFile` (
  `id` int(11) NOT NULL AUTO_INCREMENT,
  `fromId` int(11) unsigned NOT NULL,
  `toId` int(11) unsigned NOT NULL,
  `fileName` varchar(255) COLLATE utf8mb4_bin NOT NULL DEFAULT '',
  `size` int(11) unsigned NOT NULL DEFAULT '0',
  `taskId` varchar(128) COLLATE utf8mb4_bin NOT NULL DEFAULT '',
  `status` tinyint(1) unsigned NOT NULL DEFAULT '0',
  `created` int(11) unsigned NOT NULL DEFAULT '0',
  `updated` int(11) unsigned NOT NULL DEFAULT '0',
  PRIMARY KEY (`id`),
  KEY `idx_toId_status_created` (`toId`,`status`,`created`),
  KEY `idx_fromId_toId_taskId` (`fromId`,`toId`,`taskId`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
