"""evidencepack keeps no tables: a pack is a file, its trace the ``evidencepack.build`` audit row."""
