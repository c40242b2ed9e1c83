"""Provisioning: jobs over many devices, the Ansible bootstrap, SSH targets and encrypted secrets."""
