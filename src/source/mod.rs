//! Where items come from: directory trees and tar archives.

pub mod tar;
