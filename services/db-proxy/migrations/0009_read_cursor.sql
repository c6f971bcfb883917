-- Durable read positions (issue 10, docs/RELIABILITY.md "Unread counters"):
-- the newest msg id each user has read in each conversation (sessionType 1
-- = 1:1 with peerId the other user, 2 = group with peerId the group id).
-- Written by read acks and, for the sender, by every message sent; it only
-- moves forward. When the unread Redis loses its counters they are rebuilt
-- from these rows and the message shards. TierTalk's own table.
CREATE TABLE IF NOT EXISTS `IMReadCursor` (
  `id` int(11) unsigned NOT NULL AUTO_INCREMENT,
  `userId` int(11) unsigned NOT NULL,
  `peerId` int(11) unsigned NOT NULL,
  `sessionType` tinyint(3) unsigned NOT NULL,
  `msgId` int(11) unsigned NOT NULL,
  `updated` int(11) unsigned NOT NULL,
  PRIMARY KEY (`id`),
  UNIQUE KEY `uk_userId_peerId_sessionType` (`userId`,`peerId`,`sessionType`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
