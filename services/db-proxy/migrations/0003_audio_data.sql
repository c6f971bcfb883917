-- Audio bytes of IMAudio rows (docs/FLOWS.md §4 step 3.4). TeamTalk uploads them to
-- its msfs file server and keeps the returned path in IMAudio.path; TierTalk
-- has no msfs, so it keeps them here and sets IMAudio.path to `tt-db:<id>`.
-- TierTalk's own table: TeamTalk's tables are never altered.
CREATE TABLE IF NOT EXISTS `IMAudioData` (
  `audioId` int(11) NOT NULL,
  `data` mediumblob NOT NULL,
  PRIMARY KEY (`audioId`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
