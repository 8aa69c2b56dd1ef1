// The portable core of the NILM meter firmware: everything that does not touch hardware. Header-only,
// standard C++17, no Arduino or ESP-IDF dependency, so it is unit-tested on the host (firmware/arduino/test)
// and shared by the Arduino sketch and the ESPHome webhook variant.
#pragma once

#include "ack.h"            // IWYU pragma: export
#include "backoff.h"        // IWYU pragma: export
#include "batch_encoder.h"  // IWYU pragma: export
#include "contract.h"       // IWYU pragma: export
#include "delivery.h"       // IWYU pragma: export
#include "derived.h"        // IWYU pragma: export
#include "identity.h"       // IWYU pragma: export
#include "json_writer.h"    // IWYU pragma: export
#include "outbox.h"         // IWYU pragma: export
#include "ring_buffer.h"    // IWYU pragma: export
#include "sample.h"         // IWYU pragma: export

namespace nilm {

constexpr const char* kFirmwareVersion = "1.0.0";

}  // namespace nilm
