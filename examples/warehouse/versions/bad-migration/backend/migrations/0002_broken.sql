-- Deliberately broken release: the table does not exist, so the deploy must stop here.
ALTER TABLE no_such_table ADD COLUMN IF NOT EXISTS note VARCHAR(255) NULL;
