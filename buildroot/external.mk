include $(sort $(wildcard $(BR2_EXTERNAL_AIRPANEL_PATH)/package/*/*.mk))
