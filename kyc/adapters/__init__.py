"""KYC vendors behind one small interface (base.KycVendor); the built-in checks are the default."""
