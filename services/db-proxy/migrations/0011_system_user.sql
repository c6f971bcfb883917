-- The system sender of the send API (services/http-api, docs/HTTP-API.md "The
-- system sender"): an ordinary IMUser row named `system`, nick "System", so
-- stock TeamTalk clients show its messages under that name like any user's
-- (they resolve senders from the user list and IMUsersInfoReq). Its password
-- and salt are random values no password matches: nobody logs in as it.
-- Kept when a user of that name exists already (TT_HTTP_API_SYSTEM_USER picks
-- another name then). Department: the first one in use, else 1 (the one a
-- fresh database's first department gets).
INSERT INTO `IMUser` (`sex`, `name`, `domain`, `nick`, `password`, `salt`, `phone`, `email`, `avatar`, `departId`, `status`, `created`, `updated`, `push_shield_status`, `sign_info`)
SELECT 0, 'system', 'system', 'System', MD5(UUID()), LEFT(MD5(UUID()), 4), '', '', '',
       COALESCE((SELECT MIN(`id`) FROM `IMDepart` WHERE `status` = 0), 1), 0, UNIX_TIMESTAMP(), UNIX_TIMESTAMP(), 0, ''
FROM DUAL
WHERE NOT EXISTS (SELECT 1 FROM `IMUser` WHERE `name` = 'system');
