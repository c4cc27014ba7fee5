-- Expand step: nullable, so v1 code that does not know the column keeps inserting rows.
ALTER TABLE items ADD COLUMN IF NOT EXISTS supplier VARCHAR(255) NULL;
