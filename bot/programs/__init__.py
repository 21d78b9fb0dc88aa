"""Programs defined by a file: the definition (`spec`), reading it from YAML with line numbers (`yamlfile`),
storing it on `Program.settings` (`store`) and resolving its pool of people (`pools`)."""
