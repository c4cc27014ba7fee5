-- Expand step: a new table v1 never reads. Its contacts are personal data: the production
-- inventory's backup_anonymize names its columns, so staging gets fakes.
CREATE TABLE IF NOT EXISTS supplier_contacts (
    id INT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    supplier VARCHAR(255) NOT NULL,
    contact_name VARCHAR(255) NOT NULL,
    contact_email VARCHAR(255) NOT NULL,
    contact_phone VARCHAR(64) NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
