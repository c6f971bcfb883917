-- Least-privilege MySQL/MariaDB accounts for TierTalk (docs/SECURITY.md "Storage hardening").
--
--   tiertalk          db-proxy at run time: SELECT, INSERT, UPDATE, DELETE on the TeamTalk database,
--                     nothing else (no DDL, no other database, no FILE/PROCESS/SUPER).
--   tiertalk_migrate  the migration step (migrate-main, TT_MYSQL_MIGRATE_URL): every privilege on
--                     the TeamTalk database, none outside it.
--
-- Run as an administrator with the passwords (and optionally the database name and the client
-- host pattern) set first; nothing secret is written in this file:
--
--   { echo "SET @tt_runtime_password = '…', @tt_migrate_password = '…';"; cat deploy/sql/grants.sql; } | mariadb -uroot
--
-- Optional: @tt_database (default 'teamtalk'), @tt_host (default '%'). Re-running it is safe: it
-- creates what is missing and sets the passwords again (a rotation).

SET SESSION sql_mode = 'STRICT_TRANS_TABLES,ERROR_FOR_DIVISION_BY_ZERO,NO_ENGINE_SUBSTITUTION';
SET @tt_database = COALESCE(@tt_database, 'teamtalk');
SET @tt_host = COALESCE(@tt_host, '%');
SET @tt_db_id = CONCAT('`', REPLACE(@tt_database, '`', '``'), '`');

-- Refuse to run without passwords (an account with an empty password would be worse than none).
SET @tt_check = IF(COALESCE(@tt_runtime_password, '') = '' OR COALESCE(@tt_migrate_password, '') = '',
  'SIGNAL SQLSTATE ''45000'' SET MESSAGE_TEXT = ''set @tt_runtime_password and @tt_migrate_password first''',
  'DO 0');
PREPARE tt_stmt FROM @tt_check; EXECUTE tt_stmt; DEALLOCATE PREPARE tt_stmt;

SET @tt_sql = CONCAT('CREATE DATABASE IF NOT EXISTS ', @tt_db_id, ' DEFAULT CHARACTER SET utf8mb4');
PREPARE tt_stmt FROM @tt_sql; EXECUTE tt_stmt; DEALLOCATE PREPARE tt_stmt;

-- Run time.
SET @tt_sql = CONCAT('CREATE USER IF NOT EXISTS ''tiertalk''@', QUOTE(@tt_host), ' IDENTIFIED BY ', QUOTE(@tt_runtime_password));
PREPARE tt_stmt FROM @tt_sql; EXECUTE tt_stmt; DEALLOCATE PREPARE tt_stmt;
SET @tt_sql = CONCAT('ALTER USER ''tiertalk''@', QUOTE(@tt_host), ' IDENTIFIED BY ', QUOTE(@tt_runtime_password));
PREPARE tt_stmt FROM @tt_sql; EXECUTE tt_stmt; DEALLOCATE PREPARE tt_stmt;
SET @tt_sql = CONCAT('GRANT SELECT, INSERT, UPDATE, DELETE ON ', @tt_db_id, '.* TO ''tiertalk''@', QUOTE(@tt_host));
PREPARE tt_stmt FROM @tt_sql; EXECUTE tt_stmt; DEALLOCATE PREPARE tt_stmt;

-- Migrations (DDL), a separate account used only by the migration step.
SET @tt_sql = CONCAT('CREATE USER IF NOT EXISTS ''tiertalk_migrate''@', QUOTE(@tt_host), ' IDENTIFIED BY ', QUOTE(@tt_migrate_password));
PREPARE tt_stmt FROM @tt_sql; EXECUTE tt_stmt; DEALLOCATE PREPARE tt_stmt;
SET @tt_sql = CONCAT('ALTER USER ''tiertalk_migrate''@', QUOTE(@tt_host), ' IDENTIFIED BY ', QUOTE(@tt_migrate_password));
PREPARE tt_stmt FROM @tt_sql; EXECUTE tt_stmt; DEALLOCATE PREPARE tt_stmt;
SET @tt_sql = CONCAT('GRANT ALL PRIVILEGES ON ', @tt_db_id, '.* TO ''tiertalk_migrate''@', QUOTE(@tt_host));
PREPARE tt_stmt FROM @tt_sql; EXECUTE tt_stmt; DEALLOCATE PREPARE tt_stmt;

SET @tt_runtime_password = NULL, @tt_migrate_password = NULL, @tt_sql = NULL;
