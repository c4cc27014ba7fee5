"""Makes greenlight's module_utils importable as ansible.module_utils.* in the status container."""
