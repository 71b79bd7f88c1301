// Package systemd is the `services` provisioning step: it installs, enables and
// starts the units a profile requires, over D-Bus on a live host (DBus) or, under
// --root, by creating the [Install] links the way `systemctl --root` does (Offline).
package systemd
