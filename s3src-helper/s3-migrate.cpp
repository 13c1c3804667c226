// s3-migrate.cpp: placeholder, replaced by its owner.
