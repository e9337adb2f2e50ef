"""Pure declarations: assets, ops, jobs, config, resources, partitions, schedules, sensors."""
