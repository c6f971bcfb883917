-- Group administration that TeamTalk lacks (IM.Group TierTalk extensions):
-- TeamTalk knows only IMGroup.creator (the owner). One row per (group, user)
-- with a role or a mute; userId 0 is the group itself (its muteUntil is the
-- group-wide mute). TierTalk's own table: TeamTalk's tables are never altered.
CREATE TABLE IF NOT EXISTS `IMGroupAdmin` (
  `groupId` int(11) unsigned NOT NULL,
  `userId` int(11) unsigned NOT NULL,
  `role` tinyint(3) unsigned NOT NULL DEFAULT '0',
  `muteUntil` int(11) unsigned NOT NULL DEFAULT '0',
  `updated` int(11) unsigned NOT NULL DEFAULT '0',
  PRIMARY KEY (`groupId`,`userId`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
