-- Schema of `track_service` (vehicle monitors of the VEH fixture).

DROP TABLE IF EXISTS `vehicle_monitor`;
CREATE TABLE `vehicle_monitor` (
  `id` int(11) NOT NULL AUTO_INCREMENT,
  `car_id` int(11) NOT NULL,
  `status` tinyint(4) NOT NULL,
  `monitor_status` int(11) DEFAULT NULL,
  `monitor_type` varchar(32) DEFAULT NULL,
  PRIMARY KEY (`id`),
  KEY `idx_car` (`car_id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
