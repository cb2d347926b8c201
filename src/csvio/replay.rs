//! Replaying CSV history through the engine.
