-- Message ids are never handed out twice (issue 10): one row per
-- (conversation, msgId) in every shard. TeamTalk's indexes on the shards
-- (idx_relateId_status_msgId_created, idx_groupId_msgId_status_created) are
-- not unique, so the keys are added beside them. Existing duplicate rows stop
-- the migration with the table named; remove them and run it again.
ALTER TABLE `IMMessage_0` ADD UNIQUE KEY IF NOT EXISTS `uk_relateId_msgId` (`relateId`,`msgId`);
ALTER TABLE `IMMessage_1` ADD UNIQUE KEY IF NOT EXISTS `uk_relateId_msgId` (`relateId`,`msgId`);
ALTER TABLE `IMMessage_2` ADD UNIQUE KEY IF NOT EXISTS `uk_relateId_msgId` (`relateId`,`msgId`);
ALTER TABLE `IMMessage_3` ADD UNIQUE KEY IF NOT EXISTS `uk_relateId_msgId` (`relateId`,`msgId`);
ALTER TABLE `IMMessage_4` ADD UNIQUE KEY IF NOT EXISTS `uk_relateId_msgId` (`relateId`,`msgId`);
ALTER TABLE `IMMessage_5` ADD UNIQUE KEY IF NOT EXISTS `uk_relateId_msgId` (`relateId`,`msgId`);
ALTER TABLE `IMMessage_6` ADD UNIQUE KEY IF NOT EXISTS `uk_relateId_msgId` (`relateId`,`msgId`);
ALTER TABLE `IMMessage_7` ADD UNIQUE KEY IF NOT EXISTS `uk_relateId_msgId` (`relateId`,`msgId`);
ALTER TABLE `IMGroupMessage_0` ADD UNIQUE KEY IF NOT EXISTS `uk_groupId_msgId` (`groupId`,`msgId`);
ALTER TABLE `IMGroupMessage_1` ADD UNIQUE KEY IF NOT EXISTS `uk_groupId_msgId` (`groupId`,`msgId`);
ALTER TABLE `IMGroupMessage_2` ADD UNIQUE KEY IF NOT EXISTS `uk_groupId_msgId` (`groupId`,`msgId`);
ALTER TABLE `IMGroupMessage_3` ADD UNIQUE KEY IF NOT EXISTS `uk_groupId_msgId` (`groupId`,`msgId`);
ALTER TABLE `IMGroupMessage_4` ADD UNIQUE KEY IF NOT EXISTS `uk_groupId_msgId` (`groupId`,`msgId`);
ALTER TABLE `IMGroupMessage_5` ADD UNIQUE KEY IF NOT EXISTS `uk_groupId_msgId` (`groupId`,`msgId`);
ALTER TABLE `IMGroupMessage_6` ADD UNIQUE KEY IF NOT EXISTS `uk_groupId_msgId` (`groupId`,`msgId`);
ALTER TABLE `IMGroupMessage_7` ADD UNIQUE KEY IF NOT EXISTS `uk_groupId_msgId` (`groupId`,`msgId`);
