// Package hardware owns the hardware.motherboard check: is this a physical
// server board, judged from the SMBIOS/DMI chassis type, vendor and model names.
package hardware
