"""tagwise: warehouse-native customer classification."""
