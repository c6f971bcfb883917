-- Modern password hashes (issue 11, docs/SECURITY.md "Passwords"): the
-- argon2id hash of a user's password, beside TeamTalk's IMUser.password so
-- TeamTalk's schema and tools keep working. `legacyPassword`/`legacySalt` are
-- the IMUser.password/salt the row was made from (or written with): when
-- IMUser holds other values, a TeamTalk admin reset the password there, and
-- that newer password wins over this row. TierTalk's own table.
CREATE TABLE IF NOT EXISTS `IMUserPasswordHash` (
  `userId` int(11) unsigned NOT NULL,
  `hash` varchar(255) COLLATE utf8mb4_bin NOT NULL,
  `legacyPassword` varchar(32) COLLATE utf8mb4_bin NOT NULL,
  `legacySalt` varchar(4) COLLATE utf8mb4_bin NOT NULL,
  `updated` int(11) unsigned NOT NULL,
  PRIMARY KEY (`userId`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
