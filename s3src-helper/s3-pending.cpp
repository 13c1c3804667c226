// s3-pending.cpp: placeholder, replaced by its owner.
