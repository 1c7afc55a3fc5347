#!/bin/bash -e
# pi-gen convention: start this stage from a copy of the previous stage's root file system.
if [ ! -d "${ROOTFS_DIR}" ]; then
    copy_previous
fi
