-- Database and users of the naive compose deploy (bench only; the database is not published).
-- One statement per line: MariaDB reads --init-file line by line.
CREATE DATABASE IF NOT EXISTS warehouse CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;
CREATE USER IF NOT EXISTS 'warehouse_app'@'%' IDENTIFIED BY 'bench-naive-app';
GRANT SELECT, INSERT, UPDATE, DELETE ON warehouse.* TO 'warehouse_app'@'%';
CREATE USER IF NOT EXISTS 'warehouse_migrator'@'%' IDENTIFIED BY 'bench-naive-migrator';
GRANT ALL ON warehouse.* TO 'warehouse_migrator'@'%';
